#!/usr/bin/env python3
"""docker-compose.yml agrees with the binaries it runs.

Debian's docker-compose must accept the file, and every Kiln program, flag
and KILN_* variable the file (and the example env file) names must exist in
that program's --help. Run by CTest with KILN_SOURCE_DIR and KILN_BINARY_DIR.
"""
import os
import re
import subprocess
import unittest

import yaml

SOURCE = os.environ.get("KILN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("KILN_BINARY_DIR", os.path.join(SOURCE, "build"))
PROGRAMS = {
    "kiln": "clients/cli/kiln",
    "kiln-health": "clients/cli/kiln-health",
    "kiln-data": "services/data/kiln-data",
    "kiln-preprocess": "services/preprocess/kiln-preprocess",
    "kiln-training": "services/training/kiln-training",
    "kiln-evaluation": "services/evaluation/kiln-evaluation",
    "kiln-registry": "services/registry/kiln-registry",
    "kiln-worker": "services/worker/kiln-worker",
}


# The images that run Kiln's own programs (kiln-web runs nginx).
PROGRAM_IMAGES = ("kiln-serving:", "kiln-training:")


def runs_kiln_program(service):
    return str(service.get("image", "")).startswith(PROGRAM_IMAGES)


def help_text(program):
    self_path = os.path.join(BUILD, PROGRAMS[program])
    result = subprocess.run([self_path, "--help"], capture_output=True, text=True, check=True)
    return result.stdout


def kiln_variables(text):
    return set(re.findall(r"\bKILN_[A-Z0-9_]+\b", text))


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        checked = subprocess.run(["docker-compose", "config", "-q"], cwd=SOURCE,
                                 capture_output=True, text=True)
        cls.config_error = checked.stderr if checked.returncode else None
        # The file as written (anchors merged), not `docker-compose config`'s
        # rendering, which folds the env file into every service.
        with open(os.path.join(SOURCE, "docker-compose.yml")) as compose:
            cls.services = yaml.safe_load(compose)["services"]
        cls.helps = {name: help_text(name) for name in PROGRAMS}

    def test_docker_compose_accepts_the_file(self):
        self.assertIsNone(self.config_error)

    def test_every_kiln_service_runs_a_kiln_program_with_known_variables(self):
        kiln_services = {name: s for name, s in self.services.items() if runs_kiln_program(s)}
        self.assertGreaterEqual(len(kiln_services), 7, sorted(kiln_services))
        for name, service in kiln_services.items():
            with self.subTest(service=name):
                argv = (service.get("entrypoint") or []) + (service.get("command") or [])
                program = argv[0]
                self.assertIn(program, PROGRAMS, f"{name} runs an unknown program {program}")
                for variable in service.get("environment", {}):
                    if variable.startswith("KILN_"):
                        self.assertIn(variable, self.helps[program],
                                      f"{name}: {program} --help does not mention {variable}")
                for flag in [a for a in argv[1:] if a.startswith("--")]:
                    self.assertIn(flag.split("=")[0], self.helps[program])

    def test_healthchecks_use_the_health_probe_on_the_service_port(self):
        for name, service in self.services.items():
            test = service.get("healthcheck", {}).get("test", [])
            if not runs_kiln_program(service) or not test:
                continue
            with self.subTest(service=name):
                self.assertEqual(test[:2], ["CMD", "kiln-health"])
                listen = service["environment"]["KILN_LISTEN"]
                self.assertEqual(test[2].split(":")[1], listen.split(":")[1])

    def test_env_example_variables_exist_in_some_program(self):
        with open(os.path.join(SOURCE, "deploy/kiln.env.example")) as example:
            variables = kiln_variables(
                "\n".join(l for l in example if not l.lstrip().startswith("#")))
        self.assertTrue(variables)
        known = set().union(*(kiln_variables(h) for h in self.helps.values()))
        self.assertEqual(variables - known, set())

    def test_no_service_runs_from_files_of_the_checkout(self):
        # Images carry what they serve: a host folder may be missing pieces
        # (clients/web/vendor is built, not committed). Only the CLI mounts
        # the datasets it ingests.
        for name, service in self.services.items():
            for volume in service.get("volumes", []):
                source = volume.split(":")[0]
                with self.subTest(service=name, volume=volume):
                    self.assertFalse(source.startswith((".", "/")) and name != "cli",
                                     f"{name} mounts {source}")

    def test_services_depend_on_healthy_dependencies(self):
        for name, service in self.services.items():
            for dependency, condition in service.get("depends_on", {}).items():
                with self.subTest(service=name, dependency=dependency):
                    self.assertEqual(condition["condition"], "service_healthy")


if __name__ == "__main__":
    unittest.main(verbosity=2)
