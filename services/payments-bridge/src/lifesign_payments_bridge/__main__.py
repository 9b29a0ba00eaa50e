from lifesign_payments_bridge.main import run

run()
