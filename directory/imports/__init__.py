"""Loading the journal's directory (`epos-directory/1`): validate everything, then write it all."""

from directory.imports.apply import (
    KINDS,
    Counts,
    ImportReport,
    MassRemovalError,
    import_directory,
)
from directory.imports.schema import FORMAT, DirectoryImportError, parse_json, validate

__all__ = [
    "FORMAT",
    "KINDS",
    "Counts",
    "DirectoryImportError",
    "ImportReport",
    "MassRemovalError",
    "import_directory",
    "parse_json",
    "validate",
]
