"""The hooks' functions, imported as modules and called directly."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import TEMPLATE
from helpers import hook_module, module_from_file, new_service_answers, new_service_default

ANSWERS = new_service_answers(TEMPLATE)

import local_extensions as extension  # noqa: E402 - tests/helpers.py puts the template's root on sys.path

plan = hook_module("plan")
post = hook_module("finish")


def names(answer: str) -> list[str]:
    return [role.name for role in plan.plan_roles(answer)]


class TestRoleAnswer:
    def test_pairs_and_bare_kinds_separated_by_spaces_or_commas(self):
        assert plan.split_role_answer(" Api:flask,worker  Jobs:Worker ") == [
            ("Api", "flask"), (None, "worker"), ("Jobs", "worker")]

    def test_bare_kinds_take_default_names_numbered_when_repeated(self):
        assert names("flask flask django flask") == [
            "FlaskWebRole", "FlaskWebRole2", "DjangoWebRole", "FlaskWebRole3"]

    def test_numbering_skips_names_given_explicitly(self):
        assert names("worker FlaskWebRole2:flask worker2:flask flask flask") == [
            "WorkerRole", "FlaskWebRole2", "worker2", "FlaskWebRole", "FlaskWebRole3"]

    def test_default_name_given_explicitly_to_another_kind(self):
        assert names("WorkerRole:flask worker") == ["WorkerRole", "WorkerRole2"]

    @pytest.mark.parametrize("answer", ["Flask:flask", "Site:django", "Api-v2:bottle", "Queue:worker", "W:worker",
                                        "a" * 63 + ":worker", "Under_score:bottle"])
    def test_tricky_names_are_accepted(self, answer):
        assert names(answer) == [answer.partition(":")[0]]

    @pytest.mark.parametrize(("answer", "words"), [
        ("", "no roles"),
        ("Web::flask", "not a Name:kind pair"),
        ("Web:flask:x", "not a Name:kind pair"),
        ("Api;flask", "'Api;flask' is not a Name:kind pair"),
        ("fla-sk", "unknown role kind 'fla-sk'"),
        ("Web:php", "unknown role kind 'php'"),
        ("9Web:flask", "not a valid role name"),
        ("Wéb:flask", "not a valid role name"),
        ("A" * 64 + ":flask", "not a valid role name"),
        ("Web:flask WEB:worker", "used twice"),
        ("My-Jobs:worker My_Jobs:worker", "ignoring case, '-' and '_'"),
        ("aux:flask", "reserved device name"),
        ("COM7:worker", "reserved device name"),
        ("CloudService:worker", "already a folder of the solution"),
        ("A:worker A-queue:worker", "the workers 'A' and 'A-queue' would read one queue, 'a-queue'"),
        ("W" + "x" * 62 + ":worker W" + "x" * 58 + ":worker", "would read one queue"),
    ])
    def test_bad_answers_say_what_is_wrong_and_what_is_allowed(self, answer, words):
        with pytest.raises(plan.AnswerError) as raised:
            plan.plan_roles(answer)
        message = str(raised.value)
        assert message.startswith("roles: ")
        assert words in message
        assert "; " in message and "\n" not in message


class TestRolePlan:
    def test_web_ports_80_then_from_8080_in_order(self):
        roles = plan.plan_roles("worker flask django worker bottle")
        assert [r.port for r in roles] == [None, 80, 8080, None, 8081]

    def test_only_web_roles_have_wsgi_applications(self):
        roles = plan.plan_roles("django flask bottle worker")
        assert [r.wsgi_application for r in roles] == [
            "website.wsgi:application", "wsgi:app", "wsgi:app", None]

    def test_uvicorn_serves_the_asgi_kind_and_waitress_the_others(self):
        roles = plan.plan_roles("wsgi fastapi django worker")
        assert [(r.wsgi_application, r.asgi, r.app_server) for r in roles] == [
            ("wsgi:application", False, "waitress"), ("asgi:app", True, "uvicorn"),
            ("website.wsgi:application", False, "waitress"), (None, False, None)]

    def test_wfastcgi_refuses_an_asgi_role_and_says_what_works(self):
        answers = {**ANSWERS, "roles": "Site:flask Api:fastapi", "web_server": "wfastcgi"}
        with pytest.raises(plan.AnswerError) as refused:
            plan.make_plan(answers)
        assert str(refused.value) == (
            "roles: 'Api' is a fastapi role, an ASGI application, which wfastcgi (WSGI only) cannot serve; "
            "answer web_server=httpplatformhandler (uvicorn behind HttpPlatformHandler), or leave the role out")
        assert plan.make_plan({**answers, "web_server": "httpplatformhandler"})["roles"][1]["asgi"] is True

    @pytest.mark.parametrize(("role", "queue"), [
        ("WorkerRole", "workerrole"),
        ("Orders_Import--v2", "orders-import-v2"),
        ("W", "w-queue"),
        ("Jobs_", "jobs"),
        ("Q" + "x" * 62, "q" + "x" * 55),
    ])
    def test_queue_names_are_valid_and_leave_room_for_poison(self, role, queue):
        name = plan.queue_name_for(role)
        assert name == queue
        assert 3 <= len(name + "-poison") <= 63
        assert "--" not in name and not name.startswith("-") and not name.endswith("-")

    def test_settings_by_kind(self):
        web, worker, django = plan.plan_roles("flask worker django")
        common = ["StorageConnectionString", "APPLICATIONINSIGHTS_CONNECTION_STRING"]
        assert [s.name for s in web.settings][:3] == [*common, "SECRET_KEY"]
        assert {"QueueName", "MaxDequeueCount", "VisibilityTimeoutSeconds", "MaxIdleBackoffSeconds",
                "MessageEncoding"} <= {s.name for s in worker.settings}
        assert {"ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DEBUG"} <= {s.name for s in django.settings}
        queue = next(s for s in worker.settings if s.name == "QueueName")
        assert queue.cloud == queue.local == "workerrole"

    def test_local_storage_is_azurite_and_cloud_is_a_placeholder(self):
        (role,) = plan.plan_roles("worker")
        storage = role.settings[0]
        assert "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" in storage.local
        assert "REPLACE-WITH" in storage.cloud

    def test_plan_carries_parsed_answers(self):
        made = plan.make_plan({**ANSWERS, "instance_count": " 3 ", "install_packages": "no",
                               "python_version": "3.13"})
        assert made["instance_count"] == 3
        assert made["install_packages"] is False
        assert made["python_build"] == ANSWERS["_python_builds"]["3.13"]
        assert [r["name"] for r in made["roles"]] == ["FlaskWebRole", "WorkerRole"]

    def test_every_python_version_has_an_exact_build(self):
        config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
        builds = config["_python_builds"]
        assert config["python_version"] in builds
        for version, build in builds.items():
            assert build.startswith(version + ".") and build.count(".") == 2
        versions = list(builds)
        assert config["__prompts__"]["python_version"].endswith(
            f"({', '.join(versions[:-1])} or {versions[-1]})")

    def test_the_web_server_question_names_each_web_server(self):
        prompt = json.loads((TEMPLATE / "cookiecutter.json").read_text())["__prompts__"]["web_server"]
        named = [word for word in re.findall(r"\b[a-z]+\b", prompt) if word in plan.WEB_SERVERS]
        assert named == list(plan.WEB_SERVERS)


class TestOtherAnswers:
    @pytest.mark.parametrize("value", ["ab", "-abc", "abc-", "a_bc", "a" * 64, "1abc", "my service"])
    def test_bad_service_names(self, value):
        with pytest.raises(plan.AnswerError, match="^service_name: "):
            plan.check_service_name(value)

    @pytest.mark.parametrize("value", ["abc", "My-Service-2", "a" * 63])
    def test_good_service_names(self, value):
        plan.check_service_name(value)

    @pytest.mark.parametrize(("value", "expected"), [(True, True), ("yes", True), ("No", False), ("0", False)])
    def test_flags(self, value, expected):
        assert plan.parse_flag("install_packages", value) is expected

    @pytest.mark.parametrize("value", ["0", "-2", "two", "", "1e3", "1001", "²"])
    def test_bad_instance_counts(self, value):
        with pytest.raises(plan.AnswerError, match="^instance_count: "):
            plan.parse_instance_count(value)

    def test_the_plan_filter_prints_one_error_line(self):
        with pytest.raises(SystemExit) as stopped:
            extension.role_plan({**ANSWERS, "vm_size": "Large"})
        assert str(stopped.value) == (
            "ERROR: vm_size: 'Large' is not an ARM VM size; use a name such as Standard_D1_v2, "
            "Standard_A2_v2 or Standard_D2s_v3 (legacy 'Small' is Standard_A1_v2)")


class TestOnePlan:
    """The plan is made in cookiecutter's process, once per set of answers, and reaches the
    post-generation hook in its rendered source."""

    def test_made_once_for_the_checks_the_folder_name_and_the_hook(self, monkeypatch):
        made = []
        monkeypatch.setattr(plan, "make_plan", lambda answers: made.append(answers) or {"roles": []})
        extension.plan_as_json.cache_clear()
        answers = {**ANSWERS, "service_name": "OncePlanned"}
        assert extension.check_answers(answers) == "yes"
        # What cookiecutter adds before it writes (and the checks' own entries) change nothing.
        full = {**answers, "_output_dir": "/somewhere", "_template": ".", "__answers_checked": "yes"}
        assert extension.checked_before_writing(full) == ""
        assert json.loads(extension.role_plan(full)) == {"roles": []}
        assert len(made) == 1
        extension.plan_as_json.cache_clear()

    def test_the_hook_gets_the_plan_make_plan_makes(self):
        assert json.loads(extension.role_plan(ANSWERS)) == json.loads(json.dumps(plan.make_plan(ANSWERS)))

    def test_the_folder_name_is_checked_only_once_every_answer_is_there(self):
        """While questions remain (an answer written like the folder's name), nothing is checked."""
        partial = {key: value for key, value in ANSWERS.items() if key != "instance_count"}
        assert extension.checked_before_writing({**partial, "vm_size": "Large"}) == ""
        with pytest.raises(SystemExit, match="^ERROR: vm_size: "):
            extension.checked_before_writing({**ANSWERS, "vm_size": "Large"})

    def test_the_plan_is_a_safe_raw_string_in_the_hook(self):
        """JSON of any text, quotes and backslashes included, is a valid r\"\"\"...\"\"\" literal."""
        tricky = {"a": ['"""', "\\", "\\\"", "", 'x"'], "b": '\\"""'}
        source = f'PLAN = r"""{json.dumps(tricky)}"""'
        namespace: dict = {}
        exec(source, namespace)
        assert json.loads(namespace["PLAN"]) == tricky


class TestEarlyCheck:
    """local_extensions.check_answers: the same checks, inside cookiecutter, before any folder exists."""

    def test_good_answers_pass(self):
        assert extension.check_answers(ANSWERS) == "yes"

    @pytest.mark.parametrize(("field", "value"), [("service_name", ""), ("service_name", "../up"),
                                                  ("roles", "Web:rails"), ("instance_count", "0")])
    def test_a_bad_answer_exits_with_the_hooks_error_line(self, field, value):
        with pytest.raises(SystemExit) as stopped:
            extension.check_answers({**ANSWERS, field: value})
        message = str(stopped.value)
        with pytest.raises(plan.AnswerError) as refused:
            plan.make_plan({**ANSWERS, field: value})
        assert message == f"ERROR: {refused.value}"
        assert message.startswith(f"ERROR: {field}: ")

    def test_cookiecutter_renders_the_check_after_every_answer(self):
        """It must come after the answers it reads, and after _python_builds."""
        keys = list(json.loads((TEMPLATE / "cookiecutter.json").read_text()))
        answers = [key for key in keys if not key.startswith("__")]
        assert keys.index("__answers_checked") > max(keys.index(key) for key in answers)

    def test_each_answer_is_checked_right_after_its_question(self):
        """Cookiecutter renders private entries in order, between the questions. Every question
        is free text: cookiecutter's own refusal of a choice or yes/no answer given on its
        command line would be a traceback."""
        config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
        keys = list(config)
        free_text = [key for key, value in config.items() if not key.startswith("_") and isinstance(value, str)]
        assert free_text == [key for key in keys if not key.startswith("_")]
        assert free_text == ["adopt_from", "service_name", "description", "author_name", "roles", "python_version",
                             "web_server", "vm_size", "instance_count", "os_family", "install_packages"]
        for key in free_text:
            check = f"__{key}_checked"
            assert keys.index(check) == keys.index(key) + 1
            assert config[check] == f"{{{{ cookiecutter | check_answer('{key}') }}}}"

    @pytest.mark.parametrize(("field", "value", "words"), [
        ("service_name", "nul", "reserved device name"),
        ("description", "a\nb", "line break"),
        ("roles", "Web:php", "unknown role kind"),
        ("vm_size", "Large", "not an ARM VM size"),
        ("instance_count", "0", "at least 1"),
    ])
    def test_one_answer_is_checked_on_its_own(self, field, value, words):
        with pytest.raises(SystemExit) as stopped:
            extension.check_answer({"service_name": "Shop", field: value}, field)
        assert str(stopped.value).startswith(f"ERROR: {field}: ") and words in str(stopped.value)
        assert "\n" not in str(stopped.value), "outside an interactive run: the error line alone"

    @pytest.mark.parametrize("field", ["service_name", "description", "author_name", "roles", "vm_size",
                                       "instance_count"])
    def test_a_good_answer_passes_on_its_own(self, field):
        assert extension.check_answer(ANSWERS, field) == "yes"


class TestAnswersAreText:
    """local_extensions' preprocess: cookiecutter renders answers as Jinja; they stay as written."""

    def environment(self):
        from jinja2 import Environment

        return Environment(extensions=[extension.AnswerChecks])

    @pytest.mark.parametrize("text", ["{{ x }}", "}}{{", "{% raw %}", "{% endraw %}", "{# c #}", "a\nb {{",
                                      "\\ \" ' {{ é 🎉", "{{ '\\u0041' }}", "{%- if x -%}",
                                      "Made with cookiecutter {{ x }}", "{{ cookiecutter.service_name }} {{ x }}",
                                      "{{ cookiecutter.service_name }} is not answered yet"])
    def test_an_answer_with_jinja_syntax_renders_to_itself(self, text):
        assert self.environment().from_string(text).render(cookiecutter={}) == text

    def test_the_templates_own_sources_and_derived_answers_are_rendered(self):
        env = self.environment()
        context = {"cookiecutter": {"service_name": "Shop"}}
        assert env.from_string("{{cookiecutter.service_name}}").render(**context) == "Shop"
        assert env.from_string("{{ cookiecutter.service_name | lower }}-api").render(**context) == "shop-api"
        env.filters["jsonify"] = json.dumps
        hook = '{{ cookiecutter | jsonify }} {% if true %}{{ "!" }}{% endif %}'
        assert env.from_string(hook).render(**context) == '{"service_name": "Shop"} !'
        assert env.from_string("plain").render(**context) == "plain"


class TestLimits:
    def test_instance_count_zero_needs_at_least_one(self):
        with pytest.raises(plan.AnswerError, match="at least 1; give a whole number from 1 to 1000$"):
            plan.parse_instance_count("0")

    def test_vm_size_is_trimmed_like_instance_count(self):
        made = plan.make_plan({**ANSWERS, "vm_size": "  Standard_A2_v2 ", "instance_count": " 3 "})
        assert made["cleaned_answers"]["vm_size"] == "Standard_A2_v2"
        assert made["instance_count"] == 3

    @pytest.mark.parametrize("size", [
        "Standard_D1_v2", "Standard_A2m_v2", "Standard_D2s_v3", "Standard_E4-2ds_v5", "Standard_DS11-1_v2",
        "Standard_NC24ads_A100_v4", "Standard_NC4as_T4_v3", "Standard_B1ls", "Standard_D14", "Standard_HB120rs_v2",
        "Standard_DC4as_cc_v5", "Standard_E104i_v5", "Standard_M416ms_v2", "Standard_NG8ads_V620_v1",
        "Standard_NV4ads_V710_v5", "Standard_M416s_8_v2", "Standard_M896ixds_32_v3", "Standard_ND96isr_MI300X_v5",
    ])
    def test_azures_vm_size_names_are_accepted(self, size):
        assert plan.check_vm_size(size) == size

    @pytest.mark.parametrize("typo", [
        "Standard_D1v2", "Standard_D_v2", "Standard_d1_v2", "Standard_D1__v2", "Standard_D1_v",
        "Standard_", "Standard_D1 v2", "Standard_D1_v2_", "D1_v2", "Standard_D1_V2",
    ])
    def test_misspelt_vm_sizes_are_refused(self, typo):
        with pytest.raises(plan.AnswerError, match=f"^vm_size: '{typo}' is not an ARM VM size; use a name such as"):
            plan.check_vm_size(typo)

    def test_the_solutions_check_knows_the_same_vm_sizes(self):
        model = module_from_file(TEMPLATE / "{{cookiecutter.service_name}}" / "cloudservice" / "model.py",
                                 "solution_model")
        assert model.ARM_VM_SIZE.pattern == plan.VM_SIZE.pattern

    @pytest.mark.parametrize(("service_name", "network"), [
        ("MyCloudService", "MyCloudService-vnet"),
        ("S" * 59, "S" * 59 + "-vnet"),
        ("S" * 63, "S" * 59 + "-vnet"),
        ("S" * 58 + "-abcd", "S" * 58 + "-vnet"),
    ])
    def test_the_virtual_network_is_named_within_azures_64_characters(self, service_name, network):
        assert plan.make_plan({**ANSWERS, "service_name": service_name})["virtual_network"] == network

    @pytest.mark.parametrize(("author", "cleaned"), [("   ", ""), (" Ada Lovelace ", "Ada Lovelace"), ("", "")])
    def test_an_author_of_spaces_is_none(self, author, cleaned):
        assert plan.make_plan({**ANSWERS, "author_name": author})["cleaned_answers"]["author_name"] == cleaned

    def test_at_most_25_roles(self):
        assert len(plan.plan_roles("worker " * 25)) == 25
        with pytest.raises(plan.AnswerError) as refused:
            plan.plan_roles("flask " * 13 + "worker " * 13)
        assert str(refused.value) == (
            "roles: 26 roles given, and a cloud service holds at most 25 roles; "
            "give at most 25 (Azure's limit per service definition)")

    @pytest.mark.parametrize("name", ["con", "CON", "Aux", "nul", "PRN", "com1", "Lpt9"])
    def test_service_name_may_not_be_a_device_name(self, name):
        with pytest.raises(plan.AnswerError, match=f"^service_name: '{name}' is a reserved device name on Windows"):
            plan.check_service_name(name)


class TestRendering:
    def test_role_layers(self):
        web_role, worker_role = {"kind": "django", "web": True}, {"kind": "worker", "web": False}
        assert post.role_layers(web_role, "wfastcgi") == ["common", "web", "wfastcgi", "django"]
        assert post.role_layers(worker_role, "wfastcgi") == ["common", "worker"]

    def test_a_later_layers_file_replaces_the_same_path_of_an_earlier_one(self, tmp_path):
        for name in ("common/README.md", "common/bin/Start.cmd", "common/_parts/piece.md", "worker/README.md"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(name)
        assert post.role_files(tmp_path, ["common", "worker"]) == {
            Path("README.md"): "worker/README.md", Path("bin/Start.cmd"): "common/bin/Start.cmd"}

    def test_empty_rendering_writes_no_file_and_scripts_get_crlf(self, tmp_path):
        (tmp_path / "only-for-wfastcgi.txt").write_text("{% if web_server == 'wfastcgi' %}x{% endif %}\n")
        (tmp_path / "run.cmd").write_text("@echo off\n{% if true %}\necho {{ word }}\n{% endif %}\n")
        env = post.make_environment(tmp_path)
        context = {"web_server": "httpplatformhandler", "word": "hi"}
        post.render_file(env, "only-for-wfastcgi.txt", tmp_path / "only-for-wfastcgi.txt", context)
        post.render_file(env, "run.cmd", tmp_path / "out" / "run.cmd", context)
        assert not (tmp_path / "only-for-wfastcgi.txt").exists()
        assert (tmp_path / "out" / "run.cmd").read_bytes() == b"@echo off\r\necho hi\r\n"

    def test_only_the_templates_files_are_rendered(self, tmp_path):
        """An app's own Jinja template, or a file rendered before, is left as it is."""
        (tmp_path / "README.md").write_text("# {{ cookiecutter.service_name }}\n")
        (tmp_path / "Web" / "templates").mkdir(parents=True)
        (tmp_path / "Web" / "templates" / "home.html").write_text("{{ role_name }}\n")
        context = {"cookiecutter": {"service_name": "Shop"}}
        post.render_solution(tmp_path, context, ["README.md", "missing.txt"], role_sources=tmp_path)
        assert (tmp_path / "README.md").read_text() == "# Shop\n"
        assert (tmp_path / "Web" / "templates" / "home.html").read_text() == "{{ role_name }}\n"

    def test_a_copied_file_that_is_as_it_should_be_is_not_written_again(self, tmp_path):
        """Most of the solution's files have no Jinja in them: cookiecutter's copy is the file."""
        (tmp_path / "plain.toml").write_text("[tool]\n")
        (tmp_path / "crlf.toml").write_bytes(b"[tool]\r\n")  # a Windows checkout of the template
        (tmp_path / "Run.ps1").write_bytes(b"Write-Host hi\n")
        for name in ("plain.toml", "crlf.toml", "Run.ps1"):
            os.utime(tmp_path / name, ns=(1_000_000_000, 1_000_000_000))
        post.render_solution(tmp_path, {}, ["plain.toml", "crlf.toml", "Run.ps1"], role_sources=tmp_path)
        assert (tmp_path / "plain.toml").stat().st_mtime_ns == 1_000_000_000
        assert (tmp_path / "crlf.toml").read_bytes() == b"[tool]\n"
        assert (tmp_path / "Run.ps1").read_bytes() == b"Write-Host hi\r\n"

    def test_template_files_lists_what_cookiecutter_copies(self, monkeypatch):
        monkeypatch.chdir(TEMPLATE)  # cookiecutter renders the hooks there
        files = json.loads(extension.template_files())
        assert "ServiceDefinition.csdef" in files and "cloudservice/model.py" in files
        assert all((TEMPLATE / "{{cookiecutter.service_name}}" / name).is_file() for name in files)

    def test_the_hook_process_has_nothing_to_run_when_nothing_is_installed(self, tmp_path, monkeypatch, capsys):
        """Cookiecutter's own process writes the files and prints the guidance; the hook it
        renders (into the temporary folder) and runs is only comments."""
        from cookiecutter.main import cookiecutter

        scripts = tmp_path / "rendered-hooks"
        scripts.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(scripts))
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path), default_config=True,
                     extra_context={"install_packages": False})
        [hook] = scripts.glob("*.py")
        assert ast.parse(hook.read_text(encoding="utf-8")).body == []
        assert (tmp_path / "MyCloudService" / "infra" / "main.bicep").is_file()
        assert (tmp_path / "MyCloudService" / ".local-secret-key").is_file()
        assert f"The solution is in {tmp_path / 'MyCloudService'};" in capsys.readouterr().out

    def test_guidance_is_the_at_a_glance_section(self, tmp_path):
        readme = tmp_path / "README.md"
        readme.write_text("# Role\n\nIntro.\n\n## At a glance\n- one\n- two\n\n## More\nrest\n")
        assert post.role_guidance(readme) == "- one\n- two"


class TestCompiledTemplates:
    @pytest.fixture
    def cache(self, tmp_path, monkeypatch) -> Path:
        """An empty cache folder, wherever this system keeps it (HOME: macOS's ~/Library/Caches)."""
        folder = tmp_path / "cache"
        for name in ("XDG_CACHE_HOME", "LOCALAPPDATA", "HOME"):
            monkeypatch.setenv(name, str(folder))
        return folder

    @staticmethod
    def render(folder: Path, env=None) -> str:
        env = env or post.make_environment(folder)
        post.render_file(env, "page.txt", folder / "out.txt", {"word": "a"})
        return (folder / "out.txt").read_text(encoding="utf-8")

    def test_a_template_compiled_in_an_earlier_bake_is_not_compiled_again(self, tmp_path, cache, monkeypatch):
        """Each bake renders the template's files in a new folder, as cookiecutter copied them."""
        earlier, later = tmp_path / "earlier", tmp_path / "later"
        for folder in (earlier, later):
            folder.mkdir()
            (folder / "page.txt").write_text("{{ word }}\n")
        assert self.render(earlier) == "a\n"
        assert list(cache.rglob("*.cache"))
        env = post.make_environment(later)
        monkeypatch.setattr(env, "compile", lambda *args, **kwargs: pytest.fail("compiled again"))
        assert self.render(later, env) == "a\n"

    def test_a_changed_template_of_the_same_name_is_compiled_again(self, tmp_path, cache):
        """Templates are known by name (each bake renders them in a new folder), never stale."""
        first, second = tmp_path / "first", tmp_path / "second"
        for folder, word in ((first, "one"), (second, "two")):
            folder.mkdir()
            (folder / "page.txt").write_text(f"{{{{ word }}}} {word}\n")
        assert [self.render(first), self.render(second), self.render(first)] == ["a one\n", "a two\n", "a one\n"]

    @pytest.mark.parametrize("variable", [None, "CLOUDSERVICE_CACHE"])
    def test_the_cache_folder_is_the_one_the_solutions_keep_azurite_in(self, tmp_path, cache, monkeypatch, variable):
        if variable:
            monkeypatch.setenv(variable, str(tmp_path / "chosen"))
        azurite = module_from_file(TEMPLATE / "{{cookiecutter.service_name}}" / "cloudservice" / "azurite.py",
                                   "solution_azurite")
        assert post.cache_folder() == azurite.cache_folder()

    def test_without_a_cache_folder_templates_are_compiled_each_time(self, tmp_path, monkeypatch):
        not_a_folder = tmp_path / "a-file"
        not_a_folder.write_text("")
        for name in ("XDG_CACHE_HOME", "LOCALAPPDATA", "HOME"):
            monkeypatch.setenv(name, str(not_a_folder))
        assert post.user_cache("templates") is None
        (tmp_path / "page.txt").write_text("{{ word }}\n")
        assert self.render(tmp_path) == "a\n"


class TestCompiledStrings:
    """Cookiecutter compiles each default, choice, file name and the hook as a template on
    every run; local_extensions keeps what it compiled in the user's cache folder."""

    SOURCE = "{{ cookiecutter | jsonify }}{% if true %}\nx{% endif %}"  # compiled, as the template's own sources are

    @pytest.fixture
    def cache(self, tmp_path, monkeypatch) -> Path:
        monkeypatch.setenv("CLOUDSERVICE_CACHE", str(tmp_path / "cache"))
        return tmp_path / "cache"

    @staticmethod
    def environment(**options):
        from cookiecutter.environment import StrictEnvironment

        return StrictEnvironment(context={"cookiecutter": {"_extensions": ["local_extensions.AnswerChecks"]}},
                                 **options)

    def test_a_string_compiled_in_an_earlier_run_is_not_compiled_again(self, cache, monkeypatch):
        from jinja2 import Environment

        assert self.environment().from_string(self.SOURCE).render(cookiecutter={}) == "{}\nx"
        assert list((cache / "templates").iterdir())
        monkeypatch.setattr(Environment, "_parse", lambda *args, **kwargs: pytest.fail("compiled again"))
        assert self.environment().from_string(self.SOURCE).render(cookiecutter={}) == "{}\nx"

    def test_the_same_string_under_other_options_is_compiled_again(self, cache):
        assert self.environment().from_string(self.SOURCE).render(cookiecutter={}) == "{}\nx"
        assert self.environment(trim_blocks=True).from_string(self.SOURCE).render(cookiecutter={}) == "{}x"

    def test_a_filter_called_another_way_is_compiled_again(self, cache):
        """The compiled code spells out what each filter is passed."""
        from jinja2 import pass_context

        source = "{{ cookiecutter.name | shout }}"
        plain = self.environment()
        plain.filters["shout"] = str.upper
        assert plain.from_string(source).render(cookiecutter={"name": "hi"}) == "HI"
        with_context = self.environment()
        with_context.filters["shout"] = pass_context(lambda context, text: text.upper() + context["mark"])
        assert with_context.from_string(source).render(cookiecutter={"name": "hi"}, mark="!") == "HI!"

    def test_a_later_bake_adds_nothing_to_the_cache(self, cache, tmp_path):
        """Cookiecutter also compiles the path of each folder it makes, new at each bake."""
        from cookiecutter.main import cookiecutter

        cached = []
        for output in (tmp_path / "first", tmp_path / "second"):
            cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output), default_config=True,
                         extra_context={"install_packages": False})
            cached.append(sorted(path.relative_to(cache) for path in cache.rglob("*") if path.is_file()))
        assert cached[0] and cached[1] == cached[0]

    def test_without_a_cache_folder_strings_are_compiled_each_time(self, tmp_path, monkeypatch):
        (tmp_path / "a-file").write_text("")
        monkeypatch.setenv("CLOUDSERVICE_CACHE", str(tmp_path / "a-file"))
        assert post.user_cache("templates") is None
        assert [self.environment().from_string(self.SOURCE).render(cookiecutter={}) for _ in "12"] == ["{}\nx"] * 2


class TestCompiledGenerator:
    """The solution's Container Apps generator runs at each bake from the new solution's folder."""

    @pytest.fixture
    def solutions(self, bake, tmp_path, monkeypatch) -> list[Path]:
        """Two solutions in two folders, as two bakes make them, their Container Apps files not written yet."""
        baked = bake().project_path
        monkeypatch.setenv("CLOUDSERVICE_CACHE", str(tmp_path / "cache"))
        folders = [tmp_path / "first" / baked.name, tmp_path / "second" / baked.name]
        for folder in folders:
            shutil.copytree(baked, folder)
            shutil.rmtree(folder / "infra")
            (folder / "azure.yaml").unlink()
        return folders

    def test_a_later_bake_does_not_compile_the_generator_again(self, solutions, tmp_path, monkeypatch):
        from importlib.machinery import SourceFileLoader

        first, second = solutions
        post.write_container_apps_files(first)
        assert len(list((tmp_path / "cache" / "modules").iterdir())) == 3  # cloudservice, .model, .containerapps
        monkeypatch.setattr(SourceFileLoader, "source_to_code", lambda *args, **kwargs: pytest.fail("compiled again"))
        post.write_container_apps_files(second)
        assert (second / "infra" / "main.bicep").read_text() == (first / "infra" / "main.bicep").read_text()
        assert (second / "azure.yaml").is_file()
        assert not list(second.rglob("__pycache__"))

    def test_a_changed_generator_is_compiled_again(self, solutions):
        first, second = solutions
        post.write_container_apps_files(first)
        generator = second / "cloudservice" / "containerapps.py"
        generator.write_text(generator.read_text().replace("def write(", "def write_unused(", 1)
                             + "\n\ndef write(service):\n    (service.root / 'azure.yaml').write_text('changed')\n")
        post.write_container_apps_files(second)
        assert (second / "azure.yaml").read_text() == "changed"

    def test_cached_code_names_the_file_it_was_loaded_from(self):
        code = compile("def outer():\n    def inner():\n        pass\n", "first/model.py", "exec")
        moved = post.with_filename(code, "second/model.py")
        outer = next(value for value in moved.co_consts if isinstance(value, type(code)))
        inner = next(value for value in outer.co_consts if isinstance(value, type(code)))
        assert {moved.co_filename, outer.co_filename, inner.co_filename} == {"second/model.py"}


class TestInstall:
    PLAN = {"roles": [{"name": "Web"}, {"name": "Jobs"}]}

    def test_with_uv(self, tmp_path):
        create, install = post.install_commands(tmp_path, self.PLAN, "uv")
        assert create[:2] == ["uv", "venv"]
        assert install[:3] == ["uv", "pip", "install"]
        assert install[-6:] == ["-r", str(Path("Web/requirements.txt")), "-r", str(Path("Jobs/requirements.txt")),
                                "-r", "requirements-dev.txt"]

    def test_without_uv_uses_venv_and_pip(self, tmp_path):
        create, install = post.install_commands(tmp_path, self.PLAN, None)
        assert create == [sys.executable, "-m", "venv", str(tmp_path / ".venv")]
        assert install[1:4] == ["-m", "pip", "install"]

    def test_a_failed_install_warns_with_the_retry_command(self, tmp_path, capsys, monkeypatch):
        (tmp_path / "Web").mkdir()
        (tmp_path / "Web" / "requirements.txt").write_text("no-such-package-azure-py-cloudservice==0.0.1\n")
        (tmp_path / "requirements-dev.txt").write_text("")
        monkeypatch.setenv("UV_OFFLINE", "1")
        monkeypatch.setenv("PIP_NO_INDEX", "1")
        warning = post.install_packages(tmp_path, {"roles": [{"name": "Web"}]})
        assert capsys.readouterr().out == "Installing every role's packages into .venv ... failed (see the end)\n"
        *said, retry_in, create, install = warning.splitlines()
        assert said[0].endswith(" said (last lines):") and "no-such-package-azure-py-cloudservice" in warning
        assert said[-1] == "WARNING: installing the packages failed; the solution itself is complete."
        assert retry_in == f"  Retry in {tmp_path} with:"
        assert "venv" in create and str(Path("Web/requirements.txt")) in install


def test_generation_survives_a_failed_install(bake, capfd, monkeypatch):
    """With no package index reachable the solution is still generated, with a warning."""
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_NO_CACHE", "1")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    result = bake(install_packages=True)
    assert result.exit_code == 0, result.exception
    assert (result.project_path / "ServiceDefinition.csdef").exists()
    assert "WARNING: installing the packages failed" in capfd.readouterr().err


def test_reserved_folders_are_the_solution_folders(bake):
    """A role may not be named like a folder the template writes at the solution root."""
    solution = bake(roles="worker").project_path
    folders = {p.name.lower() for p in solution.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert folders - {"workerrole"} <= plan.SOLUTION_FOLDERS
    assert "cloudservice" in folders


def test_guidance_is_printed_for_every_role(bake, capfd):
    bake(roles="Site:django Jobs:worker")
    out = capfd.readouterr().out
    assert "Site (django)" in out and "Jobs (worker)" in out


def test_local_secret_is_written_once_and_git_ignored(bake):
    solution = bake().project_path
    key = (solution / ".local-secret-key").read_text().strip()
    assert len(key) >= 50
    assert ".local-secret-key" in (solution / ".gitignore").read_text().splitlines()
    post.write_local_secret(solution)
    assert (solution / ".local-secret-key").read_text().strip() == key


def test_the_templates_own_code_passes_ruff():
    """The hooks, tests and benchmarks are read and copied by people adapting the template."""
    completed = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."],
                               cwd=TEMPLATE, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout


def test_the_benchmarks_plan_the_default_solution_as_a_bake_does(bake, monkeypatch):
    """benchmarks/install.py plans the default solution from these answers; a bake is the judge."""
    monkeypatch.syspath_prepend(str(TEMPLATE / "benchmarks"))
    from common import default_answers

    answers = default_answers(TEMPLATE)
    result = bake(install_packages=False)
    assert result.exit_code == 0, result.exception
    assert result.project_path.name == answers["service_name"]
    planned = [(role["name"], role["kind"]) for role in plan.make_plan(answers)["roles"]]
    definition = (result.project_path / "ServiceDefinition.csdef").read_text(encoding="utf-8")
    assert planned and all(f'name="{name}"' in definition for name, _ in planned)


def test_the_questions_table_shows_every_default():
    """The template README's table of questions: one row per question, with its default."""
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    rows = {}
    for line in (TEMPLATE / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            rows[cells[0].strip("`")] = cells[1]
    questions = [key for key in config if not key.startswith("_")]
    assert list(rows) == questions
    for key in questions:
        default = config[key][0] if isinstance(config[key], list) else config[key]
        default = json.dumps(default) if isinstance(default, bool) else default
        # A new service's default; an adopted one's comes from the old service (adopt_from).
        default = new_service_default(default)
        assert rows[key] == (f"`{default}`" if default else "(none)"), key


def test_the_quick_start_says_what_the_template_address_is():
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    assert "gh:org/" not in readme
    assert "`gh:<owner>/azure-py-cloudservice` stands for" in readme
    assert "`cookiecutter path/to/azure-py-cloudservice`" in readme and "`cookiecutter .`" in readme


def test_guidance_uses_this_systems_interpreter(monkeypatch):
    text = "- Run: `.venv/bin/python -m cloudservice run`"
    assert post.for_this_system(text) == text
    monkeypatch.setattr(post, "os", type("WindowsOs", (), {"name": "nt"}))
    assert post.for_this_system(text) == "- Run: `.venv\\Scripts\\python -m cloudservice run`"


def test_cloud_placeholders_name_the_regional_address():
    """CSES public IPs answer at <dnsLabel>.<region>.cloudapp.azure.com, as the Bicep says."""
    (django,) = plan.plan_roles("django")
    values = {setting.name: setting.cloud for setting in django.settings}
    assert values["ALLOWED_HOSTS"] == "REPLACE-WITH-YOUR-DNS-LABEL.REPLACE-WITH-YOUR-REGION.cloudapp.azure.com"
    assert values["CSRF_TRUSTED_ORIGINS"] == (
        "https://REPLACE-WITH-YOUR-DNS-LABEL.REPLACE-WITH-YOUR-REGION.cloudapp.azure.com")


class TestKindsTable:
    """hooks/plan.py's KINDS is the one list of role kinds: what else names them agrees."""

    def test_the_roles_question_names_every_kind_in_order(self):
        prompt = json.loads((TEMPLATE / "cookiecutter.json").read_text())["__prompts__"]["roles"]
        assert f"(kinds: {', '.join(plan.KINDS)};" in prompt

    def test_the_readme_table_is_the_kinds_table(self):
        readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
        table = readme[readme.index("| Kind | Default name |"):].split("\n\n")[0].splitlines()[2:]
        rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table]
        assert [row[:3] for row in rows] == [
            [f"`{kind.name}`", f"`{kind.default_role_name}`", kind.summary] for kind in plan.KINDS.values()]
        for row, kind in zip(rows, plan.KINDS.values(), strict=True):
            assert (row[3] == f"`{kind.application}`") if kind.web else not row[3].startswith("`")

    def test_only_a_web_servers_folder_knows_which_web_server_was_chosen(self):
        """Elsewhere the answer only names the web server's folder, to include, import or extend."""
        sources = [path for path in (TEMPLATE / "{{cookiecutter.service_name}}").rglob("*") if path.is_file()]
        sources += [path for path in plan.ROLE_SOURCES.rglob("*")
                    if path.is_file() and path.relative_to(plan.ROLE_SOURCES).parts[0] not in plan.WEB_SERVERS]
        asking = []
        for path in sources:
            text = path.read_text(encoding="utf-8", errors="replace")
            asking += [f"{path.relative_to(TEMPLATE)}: {line.strip()}" for line in text.splitlines()
                       if "cookiecutter.web_server" in line.replace('cookiecutter.web_server ~ "/', "")]
        assert asking == []

    def test_no_shared_file_asks_which_kind_a_role_is(self):
        """What differs by kind is in the kind's folder or in the kinds table, not in a test of
        ``role.kind`` elsewhere (naming the kind, as a title does, is fine)."""
        sources = [path for path in (TEMPLATE / "{{cookiecutter.service_name}}").rglob("*") if path.is_file()]
        sources += [path for path in plan.ROLE_SOURCES.rglob("*") if path.is_file()]
        asking = re.compile(r"role\.kind\s*(==|!=|\bin\b|\bnot in\b)|role\[.kind.\]\s*(==|!=)")
        found = [f"{path.relative_to(TEMPLATE)}: {line.strip()}" for path in sources
                 for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if asking.search(line)]
        assert found == []

    def test_the_debugger_stops_in_the_templates_of_the_kinds_that_have_them(self, bake):
        result = bake(roles=" ".join(plan.KINDS), install_packages=False)
        assert result.exit_code == 0, result.exception
        launch = result.project_path / ".vscode" / "launch.json"
        configurations = json.loads(launch.read_text(encoding="utf-8"))["configurations"]
        switches = {"django", "jinja"}
        assert {configuration["name"]: switches & set(configuration) for configuration in configurations} == {
            kind.default_role_name: {kind.template_debugging} if kind.template_debugging else set()
            for kind in plan.KINDS.values()}

    @pytest.mark.parametrize("kind", list(plan.KINDS.values()), ids=lambda kind: kind.name)
    def test_every_kind_is_a_folder_of_role_sources(self, kind):
        folder = plan.ROLE_SOURCES / kind.name
        assert (folder / "requirements.txt").is_file() and (folder / "README.md").is_file()
        if kind.web:
            module, _, attribute = kind.application.partition(":")
            source = folder.joinpath(*module.split(".")).with_suffix(".py").read_text(encoding="utf-8")
            assert f"{attribute} =" in source

    def test_settings_come_from_the_tables_in_order(self):
        django, worker = plan.plan_roles("django Jobs:worker")
        assert [s.name for s in django.settings] == [
            s.name for s in (*plan.COMMON_SETTINGS, *plan.WEB_SETTINGS, *plan.DJANGO_SETTINGS)]
        assert [s.name for s in worker.settings] == [s.name for s in (*plan.COMMON_SETTINGS, *plan.WORKER_SETTINGS)]
        assert plan.THE_ROLES_QUEUE not in {value for s in worker.settings for value in (s.cloud, s.local)}


def test_a_bake_in_a_process_that_imported_another_cloudservice(bake, monkeypatch):
    """The files are written in cookiecutter's process, which may have imported another
    solution's cloudservice package before (a program that bakes several): this solution's
    own is used, and the other is put back."""
    import types

    other = types.ModuleType("cloudservice")
    other.__path__ = []  # a package with nothing in it
    monkeypatch.setitem(sys.modules, "cloudservice", other)
    result = bake(roles="flask worker")
    assert result.exit_code == 0, result.exception
    assert (result.project_path / "azure.yaml").is_file()
    assert sys.modules["cloudservice"] is other


@pytest.mark.parametrize(("error", "said"), [
    (PermissionError(13, "Permission denied", "/x/Web/web.config"), "Permission denied: /x/Web/web.config"),
    (shutil.Error([("a", "b", "disk full")]), "[('a', 'b', 'disk full')]"),
])
def test_a_refusal_of_the_disk_while_writing_is_one_line(tmp_path, monkeypatch, error, said):
    from cookiecutter.exceptions import FailedHookException

    def refused(*arguments):
        raise error

    monkeypatch.setattr(post, "finish_files", refused)
    monkeypatch.chdir(TEMPLATE)  # where cookiecutter renders the hook
    answers = {**new_service_answers(TEMPLATE), "_output_dir": str(tmp_path)}
    with pytest.raises(FailedHookException) as raised:
        extension.work_left_for_the_hook(answers)
    assert str(raised.value) == f"writing the solution's files failed: {said}"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
