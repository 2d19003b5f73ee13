# Cookiecutter's post-generation hook. Cookiecutter renders this file and runs what it renders
# to in a Python process of its own. By then local_extensions.py has written the solution's
# files in cookiecutter's own process (hooks/finish.py's finish_files) and, when nothing is to
# be installed, printed the guidance too: this file then renders to these comments alone.
# Otherwise the hook installs the packages and prints the guidance, and under cruft, which
# gives local_extensions.py no output folder, it writes the files first (hooks/finish.py's main).
# {% if cookiecutter | work_left_for_the_hook %}
import json
import sys
from pathlib import Path

sys.path.insert(0, r"""{{ hooks_folder() }}""")
import finish  # noqa: E402 - hooks/finish.py of the template being generated, on the path above

if __name__ == "__main__":
    sys.exit(finish.main(
        answers=json.loads(r"""{{ cookiecutter | jsonify }}"""),
        plan=json.loads(r"""{{ cookiecutter | role_plan }}"""),
        template_files=json.loads(r"""{{ template_files() }}"""),
        role_sources=Path(r"""{{ role_sources() }}"""),
        typed_path=json.loads(r'''{{ solution_as_typed(cookiecutter.service_name) | tojson }}'''),
        year="{% now 'utc', '%Y' %}",  # for the licence line
    ))
# {% endif %}
