from services.vouchers.main import main

main()
