-- One row per call and channel: the notifier claims it before posting, so a duplicate SNS
-- delivery or a Lambda retry after success posts nothing.
--   sending: an invocation holds the claim until "leaseExpiresAt"
--   sent:    posted; never posted again
--   retry:   the last attempt failed transiently; the next delivery may claim it
--   failed:  Slack refused permanently ("lastError" holds Slack's error string)
CREATE TABLE IF NOT EXISTS "Notification" (
    "callId"         text NOT NULL,
    channel          text NOT NULL,
    status           text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    "lastError"      text,
    "leaseExpiresAt" timestamptz,
    "sentAt"         timestamptz,
    "createdAt"      timestamptz NOT NULL DEFAULT now(),
    "updatedAt"      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY ("callId", channel),
    CONSTRAINT "Notification_status_known" CHECK (status IN ('sending', 'sent', 'retry', 'failed'))
);
