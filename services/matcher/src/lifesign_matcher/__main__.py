from lifesign_matcher.main import run

run()
