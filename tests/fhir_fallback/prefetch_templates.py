"""The service's prefetch templates, as the hooks/*.json discovery entries declare them."""

from __future__ import annotations

IRON_CODES = ",".join(
    f"http://loinc.org|{code}"
    for code in (
        "2276-4",
        "20567-4",
        "24373-3",
        "14723-1",
        "2502-3",
        "14801-5",
        "2498-4",
        "14798-3",
        "2500-7",
        "14800-7",
        "2501-5",
        "718-7",
    )
)

TEMPLATES: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}"
    "&clinical-status=active,recurrence,relapse",
    "ironStudies": f"Observation?patient={{{{context.patientId}}}}&code={IRON_CODES}"
    "&_sort=-date&_count=100",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active,on-hold"
    "&_include=MedicationRequest:medication",
    "medicationHistory": "MedicationRequest?patient={{context.patientId}}&status=completed,stopped"
    "&_include=MedicationRequest:medication",
    "ivIronAdministrations": "MedicationAdministration?patient={{context.patientId}}"
    "&_include=MedicationAdministration:medication",
}
