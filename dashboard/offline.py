"""Streamlit's command line, started so that it never asks the network where it is.

To print its URLs, and to judge a cross-origin WebSocket, Streamlit looks up the machine's addresses: it
"connects" a UDP socket to 8.8.8.8 and asks checkip.amazonaws.com. A dashboard on a hospital network must not
do either, so both answer that there is no such address; nothing else of Streamlit changes.
"""

import sys

from streamlit import net_util
from streamlit.web import cli

from dashboard.https import secure_streamlit


def main() -> None:
    net_util.get_internal_ip = lambda: None
    net_util.get_external_ip = lambda: None
    secure_streamlit()
    sys.argv[0] = "streamlit"
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
