from lifesign_lists.main import run

run()
