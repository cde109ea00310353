"""What operators see and do: publications with their schedules and next sends, editions
with their progress, and pause, resume, cancel (role-checked and audited)."""
