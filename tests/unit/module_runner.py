"""Run a module's main() in-process with given arguments and return its exit code and exit JSON."""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, Tuple

import pytest
from ansible.module_utils.testing import patch_module_args


def run_main(main: Callable[[], Any], args: Dict[str, Any], capsys: Any, *, check_mode: bool = False,
             diff: bool = False) -> Tuple[Any, Dict[str, Any]]:
    """``main()`` must exit (exit_json/fail_json); returns (exit code, parsed stdout)."""
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)
