from lifesign_notify.main import run

run()
