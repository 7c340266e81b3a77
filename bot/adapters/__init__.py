"""Front ends: each chat platform's registration and translation onto ``bot.delivery``."""
