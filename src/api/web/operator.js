"use strict";
// The operator's screens of the page (index.html): Configure alarms, Templates,
// Silences, Settings and Help. Loaded after the page's inline script, whose
// helpers (api, send, t, addStrings, formatTime, fill, cell, SCREENS,
// ALERT_ROW_ACTIONS) it uses.
