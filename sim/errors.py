"""Every error type rtw-sim raises on purpose, in one place with no dependencies.

Each carries a one-line message that the entry points print without a traceback (exit 2);
:func:`one_line` and :func:`typed_line` turn any exception into such a line.
Modules import their error from here, so no module needs another only for its exception
type (this broke the import cycle config.validate -> effects -> config.ConfigError). The old
homes (``sim.config.ConfigError`` ...) still name the same classes.
"""


class ConfigError(ValueError):
    """A configuration problem, described in one line."""


class ConfigWarning(UserWarning):
    """A setting that is valid but leaves something out (one line): the result is
    correct, and the warning says what is not reported and why."""


class ResourceError(ConfigError):
    """A run that cannot be done on this machine (one line); a ConfigError, so every
    entry point that reports config errors in one line reports this one too."""


class EvidenceError(ValueError):
    """An invalid evidence registry (the message is one line naming file, entry, problem)."""


class EffectError(ValueError):
    """An effect that cannot be derived from its evidence (one line). ``entry_id`` names the
    registry entry when its value is what cannot be reproduced (PSA and GSA clamp it)."""

    def __init__(self, message: str, entry_id: str | None = None):
        super().__init__(message)
        self.entry_id = entry_id


class OutputError(Exception):
    """A problem with where output goes, said in one line (no traceback)."""


class ReportError(ValueError):
    """A problem with the report's inputs (one line)."""


class ExplorerError(ValueError):
    """A control the schema cannot check (e.g. the person to follow), in one line."""


class ReconciliationError(RuntimeError):
    """The perspectives, transfers netted out, do not add up to the societal cost."""


def one_line(err: BaseException) -> str:
    """An exception (and its cause) as one line, without Hydra's hints and config dumps."""
    parts = []
    while err is not None and len(parts) < 3:
        text = " ".join(line.strip() for line in str(err).splitlines()
                        if line.strip() and "HYDRA_FULL_ERROR" not in line
                        and not line.strip().startswith(("provider=", "Config search path",
                                                         "full_key:", "object_type=")))
        if text and text not in parts:
            parts.append(text)
        err = err.__cause__
    return "; ".join(parts)


def typed_line(err: BaseException) -> str:
    """``Type: message`` on one line (a sweep cell's failure, a skipped report)."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
