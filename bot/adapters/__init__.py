"""Front ends: thin translations between a chat platform and ``BriefService``."""
