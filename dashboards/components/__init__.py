"""Component factories shared by the pages: captions, alerts, cards, tables, the app shell."""
