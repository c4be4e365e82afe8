"""`python -m dashboard [--server.port 8501 ...]`: the neuron lab (dashboard/launch.py)."""
from dashboard.launch import main

main(prog_name="python -m dashboard")
