"""The Telegram face of Tierline, on python-telegram-bot.

The package is split by concern: `app` builds and runs the `Application`, `polling` and
`webhook` take updates in, `inbox` stores them before they are confirmed and hands them to
`handlers`, which turn what a user did into engine input; `ordering` runs each chat's work
in order and chats in parallel, `notices` sends a chat's replies and notices from the
outbox, `sender` makes the requests and says what a failure means, `staff` serves the
staff commands, and `cli` is `tierline telegram`. Importing this package does not import
`telegram`; its modules do.
"""
