"""Predict a loan applicant's annual income from Lending Club-style applications: data, model, registry, promotion.

The notebooks in notebooks/ import these modules; tests/unit tests them. Importing the package imports nothing
heavy, so a notebook can read its settings before its %pip install.
"""
