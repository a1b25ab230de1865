# JupyterHub for a lecture on one machine: the students' own system accounts (PAM), one
# Jupyter server per student started as that student (LocalProcessSpawner), each student
# with their own copy of the chapters, idle kernels and servers shut down.
#
# Set-up, once, as root, from the repository (see deploy/README.md):
#   make install && .venv/bin/pip install -e '.[classroom]'
#   npm install --prefix deploy/.node configurable-http-proxy@5   # @4 on Node.js < 20
#   CNNLAB_DATA_DIR=/srv/cnnlab/mnist .venv/bin/python -m cnnlab.data   # one shared MNIST
#   CNNLAB_DATA_DIR=/srv/cnnlab/mnist .venv/bin/python -m cnnlab.other_data  # chapter 8's
#   groupadd cnnlab; useradd -m -G cnnlab alice; passwd alice             # per student
#   cd /srv/jupyterhub && CNNLAB_DATA_DIR=/srv/cnnlab/mnist \
#     /path/to/repo/.venv/bin/jupyterhub -f /path/to/repo/deploy/jupyterhub_config.py
# The repository and its .venv must be readable by the students (their servers run from it).
#
# `make classroom` starts a hub with this file, with the test's authenticator and spawner
# layered on top (deploy/classroom_config.py), so the load test exercises these settings.
import os
import pwd
import shutil
import sys
import tempfile
from pathlib import Path

c = get_config()  # noqa: F821 (injected by JupyterHub when it loads this file)

REPO = Path(__file__).resolve().parent.parent
# The students' copy of the chapters lands in ~/cnnlab, once: a restart keeps their edits.
NOTEBOOK_FOLDER = "cnnlab"
# A chapter's kernel peaks at 1.01-1.37 GB (`make bench`), a student's Jupyter server takes
# about 0.2 GB more (`make classroom`): 1.6 GB per student.
STUDENT_MEMORY_BYTES = 1.6e9
# Left for the system, the hub, the proxy and page cache.
SYSTEM_MEMORY_BYTES = 2e9

# --- The hub ----------------------------------------------------------------------------
# Plain HTTP on port 8000. For a room, put it behind HTTPS: c.JupyterHub.ssl_cert and
# c.JupyterHub.ssl_key, or a reverse proxy that terminates TLS.
c.JupyterHub.bind_url = "http://:8000"
# The proxy installed next to this file by `make classroom` (else configurable-http-proxy
# from PATH, e.g. `npm install -g configurable-http-proxy`).
_local_proxy = Path(__file__).resolve().parent / ".node/node_modules/.bin/configurable-http-proxy"
if _local_proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(_local_proxy)]

# --- Who may log in ---------------------------------------------------------------------
# The machine's own accounts (PAM): members of the group `cnnlab` are students; members of
# `cnnlab-admin` may see and stop everyone's servers from the hub's admin page.
c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.allowed_groups = {"cnnlab"}
c.PAMAuthenticator.admin_groups = {"cnnlab-admin"}

# --- Each student's server --------------------------------------------------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
# The single-user server of the environment the hub runs from (the project's .venv), which
# has cnnlab, TensorFlow and JupyterLab.
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.default_url = f"/lab/tree/{NOTEBOOK_FOLDER}"
# The environment of `make lab`: MNIST read from one shared, verified copy (never fetched
# per student), oneDNN off as in the stored outputs and `make bench`, TensorFlow's C++ log
# quiet, hashing fixed.
c.Spawner.environment = {
    "CNNLAB_DATA_DIR": os.environ.get("CNNLAB_DATA_DIR", "/srv/cnnlab/mnist"),
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONHASHSEED": "0",
}
# Kernels stay alive after a tab closes: each server shuts down a kernel that has been idle
# for 20 minutes with no tab connected (an open tab keeps its kernel; busy ones are never cut).
c.Spawner.args = [
    "--MappingKernelManager.cull_idle_timeout=1200",
    "--MappingKernelManager.cull_interval=60",
    "--MappingKernelManager.cull_connected=False",
    "--MappingKernelManager.cull_busy=False",
]
# Twenty servers starting at the start of a lecture on a small machine take a while.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# LocalProcessSpawner cannot enforce a memory limit, so the hub caps how many servers run at
# once: the machine's memory, less the system's share, in 1.6 GB per student. One more
# student gets "too many users, try again later" instead of pushing the machine into swap.
_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
c.JupyterHub.active_server_limit = max(
    1, int((_memory - SYSTEM_MEMORY_BYTES) // STUDENT_MEMORY_BYTES)
)


def give_notebooks(spawner):
    """Copy the book's chapters into the student's home, once, owned by the student."""
    home_dir = getattr(spawner, "home_dir", "")
    if home_dir:  # SimpleLocalProcessSpawner (the load test): folders of the hub's own user
        home, owner = Path(home_dir), None
    else:
        entry = pwd.getpwnam(spawner.user.name)
        home, owner = Path(entry.pw_dir), (entry.pw_uid, entry.pw_gid)
    dest = home / NOTEBOOK_FOLDER
    if dest.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    # Copy beside the destination, then rename: a failed copy leaves no half folder that the
    # next start would take for the student's own.
    staging = Path(tempfile.mkdtemp(prefix=".cnnlab-", dir=home))
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        shutil.copy(notebook, staging / notebook.name)
    if owner is not None:
        for path in (staging, *staging.iterdir()):
            os.chown(path, *owner)
    staging.chmod(0o755)
    staging.rename(dest)


c.Spawner.pre_spawn_hook = give_notebooks

# --- Idle servers -----------------------------------------------------------------------
# jupyterhub-idle-culler (the `classroom` extra) stops a server idle for an hour: a student
# who left without logging out gives the room back their 1.6 GB.
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                    "--timeout=3600", "--cull-every=300"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
