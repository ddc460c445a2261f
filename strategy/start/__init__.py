"""The personal start page ("Meine Aufgaben"); core.landing renders it for signed-in users."""
