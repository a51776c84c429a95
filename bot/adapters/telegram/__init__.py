"""The Telegram face of Tierline, on python-telegram-bot.

The package is split by concern: `app` builds and runs the `Application`, `handlers` turn
what a user did into engine input, `sender` paces and retries what goes out, `ordering`
keeps one chat's updates in order, `notices` pushes the outbox, `staff` serves the staff
commands, and `cli` is `tierline telegram`. Importing this package does not import
`telegram`; its modules do.
"""
