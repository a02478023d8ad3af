"""What a web process loads to serve pages and the API: no scikit-learn (and so no SciPy).

Each web worker holds what it imports for its whole life; scikit-learn with
SciPy is ~70 MB of it. Blocks, training and prediction import it when they run.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_web_application_and_every_url_load_without_scikit_learn():
    script = (
        "import sys\n"
        "from django.core.wsgi import get_wsgi_application\n"
        "get_wsgi_application()\n"
        "from django.urls import get_resolver\n"
        "get_resolver().url_patterns\n"
        "import mlops_studio.urls\n"
        "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mlops_studio.settings", "PYTHONPATH": str(ROOT)}

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env, check=True)

    assert out.stdout.strip().splitlines()[-1] == "[]"
