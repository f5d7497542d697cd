"""The label schema: one declared list, in the order of the classifier head."""

from __future__ import annotations

__all__ = ["DEFAULT_LABELS", "LABEL_DESCRIPTIONS", "NONE_LABEL"]

NONE_LABEL = "none"

DEFAULT_LABELS: tuple[str, ...] = ("territorial_gain", "airstrike", "rally", "diplomatic_visit", NONE_LABEL)

LABEL_DESCRIPTIONS: dict[str, str] = {
    "territorial_gain": "An armed actor takes or retakes control of a place.",
    "airstrike": "An attack delivered from aircraft or drones.",
    "rally": "People publicly assemble to demonstrate: rally, protest, march, parade, sit-in, vigil.",
    "diplomatic_visit": "An official travels to, arrives in, visits or is hosted by another country or place.",
    NONE_LABEL: "Everything else, including plans, threats, denials and other senses of the words.",
}
