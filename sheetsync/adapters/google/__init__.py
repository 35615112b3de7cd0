"""Google Sheets and identities: gspread and requests, paced, with bounded retries.

See docs/ARCHITECTURE.md.
"""
