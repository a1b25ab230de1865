# The load test's hub (`make classroom`, deploy/classroom.py): deploy/jupyterhub_config.py
# as a lecturer runs it, with only what a test on one account needs changed on top.
# deploy/classroom.py sets the CNNLAB_CLASSROOM_* variables; this file is not for a lecture.
import os
from pathlib import Path

c = get_config()  # noqa: F821 (injected by JupyterHub when it loads this file)
load_subconfig(str(Path(__file__).resolve().parent / "jupyterhub_config.py"))  # noqa: F821

state = Path(os.environ["CNNLAB_CLASSROOM_DIR"])

# Students are simulated, not system accounts: any name with the shared password logs in,
# and every server runs as this account with its home in the test's own folder.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["CNNLAB_CLASSROOM_PASSWORD"]
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "home" / "{username}")
if os.geteuid() == 0:
    # Jupyter refuses to run as root unless told; only the test runs servers as root.
    c.Spawner.args.append("--allow-root")

# Localhost only, on the test's ports; the hub's database and secrets in the test's folder.
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['CNNLAB_CLASSROOM_PORT']}"
c.JupyterHub.hub_port = int(os.environ["CNNLAB_CLASSROOM_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['CNNLAB_CLASSROOM_PROXY_PORT']}"
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

# The lecturer: a service that adds the class and stops servers at the end.
c.JupyterHub.services.append(
    {"name": "lecturer", "api_token": os.environ["CNNLAB_CLASSROOM_TOKEN"]}
)
c.JupyterHub.load_roles.append(
    {"name": "lecturer", "scopes": ["admin:users", "admin:servers"], "services": ["lecturer"]}
)
