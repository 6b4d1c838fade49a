# Copyright: contributors to the ovirt_ha.core collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's host score from measured monitors and the agent.conf weights (private, may change)."""
from __future__ import annotations

import typing as t
from dataclasses import dataclass

from .ini_conf import SCORE_DEFAULTS

ENGINE_RETRY_MAX_ATTEMPTS = 3
TAKEOVER_MARGIN = 800   # a host must beat the engine host by this much to take the engine VM over


@dataclass
class ScoreWeights:
    base_score: int = 3400
    network_score_penalty: int = 1600
    not_uptodate_config_penalty: int = 1000
    mgmt_bridge_score_penalty: int = 600
    free_memory_score_penalty: int = 400
    cpu_load_score_penalty: int = 1000
    engine_retry_score_penalty: int = 50
    cpu_load_penalty_min: float = 0.4
    cpu_load_penalty_max: float = 0.9

    @classmethod
    def from_agent_conf(cls, score_section: t.Mapping[str, str]) -> "ScoreWeights":
        """From agent.conf's [score] (dashed keys); missing or unreadable values keep the defaults."""
        weights = cls()
        for name, key, default in SCORE_DEFAULTS:
            if key in score_section:
                try:
                    value: t.Union[int, float] = (float(score_section[key]) if isinstance(default, float)
                                                  else int(score_section[key]))
                except ValueError:
                    continue
                setattr(weights, name, value)
        return weights


@dataclass
class Monitors:
    """What the broker measured on this host."""

    network: float = 1.0            # share of network probes that passed, 0..1
    bridge_up: bool = True
    cpu_load: float = 0.0           # load not caused by the engine VM, 0..1
    free_memory_mb: float = 0.0
    engine_memory_mb: float = 0.0   # the engine VM's memSize
    config_up_to_date: bool = True
    engine_retries: int = 0
    engine_running_here: bool = False
    global_maintenance: bool = False
    local_maintenance: bool = False
    agent_stopped: bool = False
    unexpected_down: bool = False


def host_score(monitors: Monitors, weights: ScoreWeights | None = None) -> int:
    w = weights or ScoreWeights()
    if monitors.local_maintenance or monitors.agent_stopped or monitors.unexpected_down:
        return 0
    if monitors.engine_retries > ENGINE_RETRY_MAX_ATTEMPTS:
        return 0
    score = w.base_score
    if not monitors.config_up_to_date:
        score -= w.not_uptodate_config_penalty
    if monitors.network < 1.0:
        score -= int((1.0 - max(0.0, monitors.network)) * w.network_score_penalty)
    if not monitors.bridge_up:
        score -= w.mgmt_bridge_score_penalty
    score -= cpu_load_penalty(monitors.cpu_load, w)
    if (not monitors.engine_running_here and not monitors.global_maintenance
            and monitors.free_memory_mb < monitors.engine_memory_mb):
        score -= w.free_memory_score_penalty
    if monitors.engine_retries > 0:
        score -= w.engine_retry_score_penalty * monitors.engine_retries
    return max(0, score)


def cpu_load_penalty(load: float, weights: ScoreWeights) -> int:
    low, high, penalty = weights.cpu_load_penalty_min, weights.cpu_load_penalty_max, weights.cpu_load_score_penalty
    if high == low:
        return 0 if load < low else penalty
    return max(0, min(penalty, int((load - low) / (high - low) * penalty)))


def network_share(probes_ok: int, probes: int = 5) -> float:
    return 0.0 if probes <= 0 else max(0, min(probes_ok, probes)) / probes


def would_take_over(candidate_score: int, engine_host_score: int) -> bool:
    return candidate_score - engine_host_score >= TAKEOVER_MARGIN
