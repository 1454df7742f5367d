"""Anonymized compliance reporting: one `ComplianceRecord` per closed case, the k-anonymous
public release built from those records, and the aggregates and review indicators on top.

Privacy design (see docs/compliance.md): records hold only generalized codes. Nothing
public is computed from the records directly; every public output (summary, dashboard,
record-level open data, export) is computed from `release()`, in which every published row
pattern occurs at least k times, so any count over any filter combination is 0 or >= k.
Tables then get cell suppression with complementary suppression as a second guard.
This package imports neither Flask nor app code and never commits.
"""
