"""Feedback to the police: reports about published figures from municipalities and the public,
screened, stored, sent to the police unit responsible and answered."""
