from workers.handlers.docstrings import parse_docstring


def test_google_style() -> None:
    doc = parse_docstring(
        """Book a table.

        Picks the best one.

        Args:
            date (str): The day,
                as YYYY-MM-DD.
            party_size: How many people.

        Returns:
            A confirmation.
        """
    )
    assert doc.summary == "Book a table.\n\nPicks the best one."
    assert doc.params == {"date": "The day, as YYYY-MM-DD.", "party_size": "How many people."}


def test_numpy_style() -> None:
    doc = parse_docstring(
        """Book a table.

        Parameters
        ----------
        date : str
            The day.
        party_size : int
            How many
            people.

        Returns
        -------
        str
        """
    )
    assert doc.summary == "Book a table."
    assert doc.params == {"date": "The day.", "party_size": "How many people."}


def test_no_docstring_or_no_sections() -> None:
    assert parse_docstring(None).summary is None
    doc = parse_docstring("Just a summary.")
    assert (doc.summary, doc.params) == ("Just a summary.", {})
