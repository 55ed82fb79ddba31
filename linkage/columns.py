"""The canonical record columns every source is mapped to before linking."""

CANONICAL_COLUMNS: tuple[str, ...] = (
    "record_id",
    "first_name",
    "middle_name",
    "last_name",
    "birth_date",
    "gender",
    "state_student_id",
    "source",
    "source_person_id",
    "state",
    "district_code",
    "school_code",
    "address",
    "postcode",
)

REQUIRED_FILE_COLUMNS: tuple[str, ...] = ("record_id", "first_name", "last_name", "birth_date")
