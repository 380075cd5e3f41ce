"""Export tax refund (出口退税) authority simulator: SOAP 1.1 service with a static WSDL, stage
progression on its own clock, push (HTTP callback) and pull (GetStageEvents) of stage events, and a
tester control API. Run: `python -m simulators.tax --host 127.0.0.1 --port 8102`."""
