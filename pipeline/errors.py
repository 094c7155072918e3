"""Errors with codes: what happened, the value, what was expected, how to fix it."""

from __future__ import annotations


class HealthClaimsError(Exception):
    """Base class: every error the library raises on purpose."""

    code = "E000"

    def __init__(self, message: str) -> None:
        super().__init__(f"[{self.code}] {message}")


class InputError(HealthClaimsError):
    """An article could not be read."""

    code = "E100"


class EmptyInputError(InputError):
    code = "E101"


class TooLargeError(InputError):
    code = "E102"


class NotFoundError(InputError):
    code = "E103"


class UnsupportedInputError(InputError):
    code = "E110"


class EncodingError(InputError):
    code = "E111"


class FetchError(InputError):
    code = "E120"


class BadRowError(InputError):
    """A corpus row (JSON Lines or CSV) that is not an article."""

    code = "E130"


class BatchError(HealthClaimsError):
    """A batch run that cannot start or go on: bad inputs, another run in the folder, no cluster."""

    code = "E601"


class ReviewError(HealthClaimsError):
    """The review database or an import cannot be used as asked."""

    code = "E701"


class CorpusError(HealthClaimsError):
    """The labelled corpus is malformed."""

    code = "E201"


class ModelError(HealthClaimsError):
    """A model is missing, corrupt or incompatible."""

    code = "E301"


class ModelVersionError(ModelError):
    code = "E302"


class ModelLabelError(ModelError):
    code = "E303"


class ModelCorruptError(ModelError):
    code = "E304"


class GateError(HealthClaimsError):
    """The quality baseline cannot be read or would be lowered without leave."""

    code = "E501"


class ResourceError(HealthClaimsError):
    """A packaged pattern or lexicon file is malformed."""

    code = "E401"


class SettingsError(HealthClaimsError):
    code = "E402"


# Error codes a batch row may carry in its `status` column.
def status_code(err: HealthClaimsError) -> str:
    """The short machine-readable status for an error, e.g. 'E101'."""
    return err.code
