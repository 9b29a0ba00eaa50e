from lifesign_quality.main import run

run()
