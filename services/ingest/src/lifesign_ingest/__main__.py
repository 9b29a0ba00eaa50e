from lifesign_ingest.main import run

run()
