"""The pure loyalty core: no I/O, no clock reads (the time is always passed in), no UI.

Modules, each one idea:

- ``money``: ``money()``/``points()`` as Decimal (floats rejected), ``Rounding``, ``Precision``,
  ``round_points()``;
- ``errors``: the exception hierarchy (``LoyaltyError`` and its subclasses);
- ``phones``: ``normalize_phone()`` to E.164, ``mask_phone()``;
- ``qrtoken``: signed member QR tokens (digits only), ``issue_token()``, ``verify_token()``;
- ``identifiers``: ``classify()`` a scanned or typed string;
- ``program``: the program snapshot (``Program``), ``demo_program()``;
- ``compiled``: a program's rules in integer form for the check loop (``Program.compiled``);
- ``member``: ``MemberView``, ``MemberState``;
- ``lots``: balance as lots, ``balance_of()``, ``consume_fifo()``, ``take_back()``;
- ``check``: ``Line``, ``calculate()`` → ``calculation.Calculation``;
- ``returns``: ``calculate_return()``;
- ``receipt``: the receipt model.
"""
