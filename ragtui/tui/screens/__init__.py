"""The app's screens: main (three panes), admin, help, sources, dialogs."""
