"""`python -m senri.services up|down|status|reset`, for scripts that run before `senri` exists."""

from senri.services.cli import app

if __name__ == "__main__":
    app(prog_name="python -m senri.services")
