"""The web UI's pieces: `render` (escaped HTML), `service` (the shared index, uploads),
`evaluate_tab` (the Evaluate tab). `app.py` lays them out."""
