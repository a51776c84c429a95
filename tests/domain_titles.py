"""The case-status titles of ../shared/domain.md, by group: what the status catalogue
must know and explain."""

DOMAIN_TITLES = {
    "received": [
        "Case Was Received",
        "Case Was Received And A Receipt Notice Was Sent",
        "Fees Were Waived",
        "Fingerprint Fee Was Received",
    ],
    "rejected": [
        "Case Was Rejected Because It Was Improperly Filed",
        "Case Rejected Because I Sent An Incorrect Fee",
    ],
    "biometrics": [
        "Biometrics Appointment Was Scheduled",
        "Case Was Updated To Show Fingerprints Were Taken",
    ],
    "review": [
        "Case Is Being Actively Reviewed By USCIS",
        "Case Remains Pending",
        "Case Was Transferred And A New Office Has Jurisdiction",
    ],
    "evidence": [
        "Request for Evidence Was Sent",
        "Response To USCIS' Request For Evidence Was Received",
        "Notice Of Intent To Deny Was Sent",
    ],
    "interview": [
        "Interview Was Scheduled",
        "Interview Was Rescheduled",
        "Interview Was Completed And My Case Must Be Reviewed",
        "Oath Ceremony Notice Was Mailed",
    ],
    "decision": [
        "Case Was Approved",
        "Case Was Denied",
        "Case Was Sent To The Department of State",
        "Withdrawal Acknowledgement Notice Was Sent",
    ],
    "card": [
        "New Card Is Being Produced",
        "Card Was Mailed To Me",
        "Card Was Delivered To Me By The Post Office",
        "Card Was Returned To USCIS",
        "Document Was Mailed To Me",
    ],
}
