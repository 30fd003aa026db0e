"""Writes: every change the console, the commands, the webhooks and the tasks make goes through a
function here (keyword-only, typed), inside one transaction, ringing Celery only after commit
(resends/doorbell.py). Reads are in resends/selectors/."""
