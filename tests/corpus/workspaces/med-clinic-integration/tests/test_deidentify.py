import json
from datetime import timedelta

from scripts.deidentify import SSN_RE, SSN_ANY_RE, deidentify_bundle, patient_offset, scrub_text

SAMPLE = "fhir/samples/bundle-patient-004821.json"


def test_ssn_patterns():
    assert SSN_ANY_RE.search("SSN 900-41-2287 on file")
    assert not SSN_RE.search("900-41-2287")      # 9xx is never issued
    assert not SSN_RE.search("000-12-3456")
    assert SSN_RE.search("123-45-6789")          # the classic placeholder


def test_scrub_text():
    text = "Call (555) 201-4477 or write marisol.okonkwohale@example.org about MRN-004821"
    assert scrub_text(text) == "Call [PHONE] or write [EMAIL] about [MRN]"


def test_offset_is_stable_and_bounded():
    a = patient_offset("MRN-004821", "test-seed")
    assert a == patient_offset("MRN-004821", "test-seed")
    assert abs(a) <= timedelta(days=180)


def test_bundle_has_no_direct_identifiers():
    with open(SAMPLE) as fh:
        bundle = deidentify_bundle(json.load(fh), "test-seed")
    patient = bundle["entry"][0]["resource"]
    assert "name" not in patient and "telecom" not in patient
    assert patient["identifier"] == []
    assert patient["address"][0]["postalCode"] == "973"
    assert len(patient["birthDate"]) == 4
