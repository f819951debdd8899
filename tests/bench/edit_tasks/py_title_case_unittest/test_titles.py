import unittest

from titles import title_case


class TitleCaseTest(unittest.TestCase):
    def test_small_words(self):
        self.assertEqual(title_case("the lord of the rings"), "The Lord of the Rings")

    def test_mixed_case_input(self):
        self.assertEqual(title_case("a TALE in TWO cities"), "A Tale in Two Cities")

    def test_empty(self):
        self.assertEqual(title_case(""), "")


if __name__ == "__main__":
    unittest.main()
