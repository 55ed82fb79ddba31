"""Notifications: who is told what, through one outbox.

An event that someone must hear about (a rejected file, a final finding, an
agreement ending) adds rows to the `outbox` table in the same transaction as
the event itself (`notifications.outbox.watch`), so a notification exists
exactly when its event does.  A worker delivers the rows (email over SMTP,
signed webhooks) with retries, and parks the ones that keep failing as `dead`
for an operator to retry.  Messages carry counts, ids and a link, never
student-level data.
"""
