from newsletter.cli.main import app

app(prog_name="newsletter")
