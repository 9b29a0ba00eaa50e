from lifesign_scoring.main import run

run()
