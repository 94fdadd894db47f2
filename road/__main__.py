from road.cli import app

app(prog_name="road")
