# The Jupyter server as `make lab` starts it (the Makefile puts this folder on JUPYTER_CONFIG_PATH;
# tests/test_lab.py starts `make lab` the same way). The user's own ~/.jupyter settings stay as they
# are and take precedence. JupyterLab's settings are in labconfig/default_setting_overrides.json:
# a chapter's .md opens as a Jupytext notebook, no news or update prompts.

# Each chapter once in the file browser: its .md, which opens as a notebook. The generated pairs
# (NN_name.ipynb, `make notebooks`) still hold the outputs Jupytext saves; they are only not listed.
c.ContentsManager.hide_globs = ["__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*~", "[0-9][0-9]_*.ipynb"]

# No requests to the Jupyter news feed or for newer JupyterLab versions: a class needs neither.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
