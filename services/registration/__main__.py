from services.registration.main import main

main()
